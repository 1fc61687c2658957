"""Running models described by STAC MLM on rasters (see docs/architecture.md, "An inference job")."""

from eohub.inference.lazy_boto3 import install as _defer_boto3

_defer_boto3()
