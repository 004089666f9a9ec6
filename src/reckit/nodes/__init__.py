"""The nodes sharing one store: who they are (``<data_dir>/node.id``), what they run (their
roles: ``api``, ``background``, ``recorder``), how many of their built-in recorder's slots are in
use, and when each last said it was alive (``repository.py``; ``registry.py`` keeps this node's
row fresh). ``reckit nodes`` lists them; ``/metrics`` reports their recorder slots."""
