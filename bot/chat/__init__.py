"""What handlers share: filters, how to answer, and the conversation steps several features enter (the language
question, the end of a payment, adding a card, the amount). Handlers import these, never each other."""
