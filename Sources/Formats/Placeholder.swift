// Placeholder until NPY lands; delete when another file exists here.
