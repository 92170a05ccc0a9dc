"""One process's side of a run: the plan, the model behind its servers, the judge, the request threads, the
reply cache, and the evaluation that ties them to the questions."""
