from django.urls import path

from messaging import api

urlpatterns = [
    path("messages/", api.MessageReceiveApi.as_view(), name="api_messages"),
    path("messages/<int:pk>/reply/", api.MessageReplyApi.as_view(), name="api_message_reply"),
    path("queues/<str:queue>/claim/", api.QueueClaimApi.as_view(), name="api_queue_claim"),
    path("outbox/", api.OutboxListApi.as_view(), name="api_outbox"),
    path("outbox/<int:pk>/ack/", api.OutboxAckApi.as_view(), name="api_outbox_ack"),
    path("communications/", api.CommunicationsApi.as_view(), name="api_communications"),
]
