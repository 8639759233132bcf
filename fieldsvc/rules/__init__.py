"""The branch's dated rules (PRODUCT.md §4): windows, thresholds, which reasons count against the
installer, the accepted optical band, link lifetimes, capacity. Every domain reads them, so they sit
below all of them; admins change them, with the date a rule took effect."""
