Feature: Leaving Strata for good
  As a user who no longer wants the service
  I want to erase my account
  So that nothing of mine is kept

  Scenario: A user erases the account and nothing of theirs remains
    Given I have an account with a resource "Holiday plans" holding a file "itinerary.txt"
    And I am logged in on two devices
    When I export my data
    Then the export holds my profile, my sessions, "Holiday plans" and "itinerary.txt"
    When I erase my account with my password
    Then neither device's session works any more
    And I cannot log in again
    And the administrator finds no account, resource or file of mine
    And the stored copy of "itinerary.txt" is gone
