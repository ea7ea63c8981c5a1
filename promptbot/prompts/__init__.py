"""A prompt's life: the /prompt command language, revisions, test sets, admin, export."""
