"""Reading answers, purely: letters out of replies (extract), the verdict on each question (verdict), and what
the judge is asked and how its answer is read (judge). No backend, no engine, no pytest."""
