"""`memory site --out DIR`: a browsable static archive of the store (see `build`)."""

from .build import SiteRequest, SiteResult, build_site

__all__ = ["SiteRequest", "SiteResult", "build_site"]
