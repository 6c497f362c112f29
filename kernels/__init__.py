"""Triton kernels, installed as ``faceit.kernels``.

Kernel modules import triton lazily so that ``import faceit`` works where triton is
absent. Set ``TRITON_INTERPRET=1`` before importing them to run on the CPU.
"""
