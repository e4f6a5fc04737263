# guest
