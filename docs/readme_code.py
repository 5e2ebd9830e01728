#!/usr/bin/env python3
"""Writes the README's C++ code block to a file, so that the test suite builds and runs the
embedding example exactly as a reader copies it."""
import sys

text = open(sys.argv[1]).read()
start = text.index("```cpp\n") + len("```cpp\n")
end = text.index("```", start)
open(sys.argv[2], "w").write(text[start:end])
