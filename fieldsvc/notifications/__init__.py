"""In-app notifications: the model, the senders, the registry of notice kinds and their
wording, and each user's inbox. Features above it (certifications, workorders, ratings, the
scheduler) register their kinds and send through it; it knows none of them."""
