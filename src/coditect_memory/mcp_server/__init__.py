"""The MCP server door (`memory mcp`). Not named `mcp`: that is the SDK's package."""
