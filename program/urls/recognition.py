from django.urls import path

from program.views.recognition import ChampionNameView, RecognitionBoardView

urlpatterns = [
    path("", RecognitionBoardView.as_view(), name="recognition"),
    path("champion/", ChampionNameView.as_view(), name="recognition_champion"),
]
