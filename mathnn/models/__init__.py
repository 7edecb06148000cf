"""Models built on the layers: the next-character model (:mod:`~mathnn.models.charrnn`) and the word tagger
(:mod:`~mathnn.models.tagger`), the lecture's two aligned many-to-many examples.

Examples
--------
>>> from mathnn.models import CharRNN, train_tagger
>>> train_tagger(seed=0).tag("I work at google")
['pronoun', 'verb', 'preposition', 'noun']
"""

from .charrnn import CharRNN, unigram_loss
from .tagger import SENTENCES, TAGS, UNKNOWN, RNNTagger, split_words, train_tagger

__all__ = ["SENTENCES", "TAGS", "UNKNOWN", "CharRNN", "RNNTagger", "split_words", "train_tagger", "unigram_loss"]
