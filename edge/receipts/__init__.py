"""收购小票 receipts: rendered with a CJK font, saved as PNG and PDF, printed via ESC/POS."""
