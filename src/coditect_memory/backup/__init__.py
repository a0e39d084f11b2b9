"""Backups that restore: consistent snapshots of the store, cut into content-addressed,
compressed (and, with a key, encrypted) objects on a local folder or an S3 bucket, with a
manifest per backup that says exactly what a restore must find.

The repository format is described in `repository.py`; the order of writes (objects first,
the manifest last) is what makes a killed backup invisible.
"""
