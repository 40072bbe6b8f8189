Feature: Finding what was said in a recording
  As someone who records voice notes
  I want to search my recordings by the words spoken in them
  So that I find a note without listening to all of them

  Scenario: A user uploads audio and finds it by a spoken word
    Given I have an account
    When I upload my recording "01_the_weather_today.flac"
    And I have it transcribed and indexed
    Then its transcript contains most of what was said
    When I search for the word "garden"
    Then the recording is the first thing I find
    When I search for the word "umbrella"
    Then I find nothing
