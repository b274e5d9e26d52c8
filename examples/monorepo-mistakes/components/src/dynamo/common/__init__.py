"""Pieces shared by every Dynamo component: token hashing, GPU discovery, logging."""
