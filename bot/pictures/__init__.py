"""PNG pictures the bot sends (a receipt, the History chart), drawn with Pillow from plain data; no aiogram here."""
