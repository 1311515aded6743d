// Placeholder until the NPY tests land; delete when another file exists here.
