"""Scale-out: the leased Redis scheduler, the workers and the scheduling rounds."""
