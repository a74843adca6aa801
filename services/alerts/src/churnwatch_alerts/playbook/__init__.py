"""Next best action: a versioned playbook of suggested actions, their outcomes, a control group."""
