"""Reading answers: letters out of replies, and the verdict on each question."""
