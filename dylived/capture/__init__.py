"""Event capture: the LiveSession component that takes a broadcast's webcast events from the push
WebSocket into the store, its pure policy, and the hand-over of its rows to the store writer."""
