"""A local stand-in for a Slack workspace, for trying talentbot without one.

The sandbox is the Slack Web API the bot talks to (through SLACK_API_URL) and the sender of Slack-signed
requests to the bot's `/slack/events`; a small web page shows the workspace. The bot runs its production code
unchanged: nothing under bot/ or commands/ knows that the sandbox exists.
"""
