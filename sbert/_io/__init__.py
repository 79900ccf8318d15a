"""Files in and out: atomic writes (atomic), the one reader and writer of text and embedding files (files),
and plots (plots)."""
