"""talentbot: a candidate relationship manager that lives in Slack."""
