"""Runs the llmobs demo (the same as ``llmobs demo``): see src/llmobs/demo.py."""

from llmobs.demo import main

if __name__ == "__main__":
    main()
