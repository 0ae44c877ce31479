"""Checking users' meshes: the check command, Grad-CAM, ONNX export, process limits."""
