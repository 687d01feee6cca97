"""The farmer passbook: receipt-QR tokens (stored as SHA-256), revocation, the farmer's view."""
