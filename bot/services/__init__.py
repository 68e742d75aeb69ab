"""Services hold the rules. Each takes a database session and `now`, returns plain data and never calls Slack."""
