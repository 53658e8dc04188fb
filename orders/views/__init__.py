"""Order pages: the agent's new-order and order-progress screens, and the NOC activation queue."""
