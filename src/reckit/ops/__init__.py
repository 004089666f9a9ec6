"""What operators watch: readiness (the store, its migrations, the bucket) and the store-wide
figures ``/metrics`` reports (``repository.py``), with the recorders' claim queue that
``reckit.nodes.waiting`` reads."""
