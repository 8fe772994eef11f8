"""autoprompt's Jinja template library (installed as ``autoprompt.templates``).

``tasks/`` holds task skeletons, ``clarifiers/`` added instructions and ``context/``
background and label-definition blocks. See ``autoprompt.library`` for how they load.
"""
