"""The parts of the Store interface, one module per concern; store.base.Store joins them."""
