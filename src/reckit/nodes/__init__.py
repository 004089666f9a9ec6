"""The nodes sharing one store: who they are (``<data_dir>/node.id``), what they run (their
roles: ``api``, ``background``, ``recorder``), how many of their built-in recorder's slots are in
use, and when each last said it was alive (``repository.py``; ``registry.py`` keeps this node's
row fresh). ``reckit nodes`` lists them; ``/metrics`` reports their recorder slots;
``waiting.py`` says why a recording waits for a recorder, and shows the nodes to tenants (the
``…/waiting`` and ``…/nodes`` extensions) without their addresses."""
