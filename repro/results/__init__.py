"""Reading results back: where records live, the ancestry tree, diff, verify and show."""
