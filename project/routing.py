from jobs.routing import websocket_urlpatterns as jobs_websocket_urlpatterns

websocket_urlpatterns = [
    *jobs_websocket_urlpatterns,
]
