"""Reading datasets where they live: disk, S3, any dtoolcore broker."""
