"""What people see: Block Kit messages and modals, and Block Kit as terminal text."""
