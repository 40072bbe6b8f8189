Feature: My files stay mine
  As someone who keeps notes and files in Strata
  I want what I upload to be out of everyone else's reach
  So that I can store private things

  Scenario: An owner uploads a file that another user cannot see
    Given Alice and Bob have accounts
    When Alice keeps a file "diary.txt" in her resource "Private notes"
    Then Alice can download "diary.txt" unchanged
    And Bob does not find "Private notes" among the resources he can see
    And Bob is told the resource "Private notes" does not exist
    And Bob is told the file "diary.txt" does not exist
    And Bob cannot list the files of "Private notes"
