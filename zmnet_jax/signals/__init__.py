"""Word and attribute signals: text -> vector (`embedders`), mixtures such as
'0.5 morning + 0.5 night' (`expressions`), the paper's 2-D reduction (`reducer`) and the
vocabulary a word model is trained and saved with (`vocabulary`)."""
