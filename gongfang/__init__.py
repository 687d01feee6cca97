"""gongfang package."""
