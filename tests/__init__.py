"""The test suite: unit/ (pure), netns/ (real kernel in namespaces), vm/ (VLAN and bond devices), harness/."""
