"""Commands an operator runs against the local stack or a deployed one (``make resend``)."""
