"""The lowering of typed IR to LLVM IR shared by the backends that go
through LLVM (x86_64, nvptx): every operator with exactly the result
atlas/meaning/semantics.py states, whatever the target."""
