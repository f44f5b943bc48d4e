"""What past experiments teach: which inputs predict the North Star, and how much wins shrink."""
