"""Customer ratings: single-use survey links / QR codes and the responses."""
