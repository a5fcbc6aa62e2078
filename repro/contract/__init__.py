"""The contract between the planes: paths, records, hashing, atomic files, git, secrets, env lock, code deps, methods."""
