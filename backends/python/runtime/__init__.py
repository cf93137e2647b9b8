"""Run-time pieces of the `python` target.

Each module here is importable for testing, and the specializer pastes the
parts an image needs into its one generated file.  Conventions:

* `core.py` holds the event loop, the prelude's structs and the helpers the
  generated code calls (checked arithmetic, traps, formatting, params).
* A component's implementation is a module with one `class Impl`.  Its
  `const` parameters are class attributes annotated `Final`; the specializer
  replaces them with the instance's values and drops the code they rule out.
  `__init__(self, rt, <device parameters in order>)` receives the runtime and
  the devices it uses; each interface operation is a method.
* Modules import the standard library and, relatively, each other; nothing
  else.
"""
